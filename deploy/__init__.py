"""Deploy tooling, outside the command line and outside Lambda.

- ``generate``: the files derived from the tool registry (``python -m deploy.generate``, ``make generate``).
- ``package``: ``chalice package`` plus the state machine, the template's parameters and the API's
  models (``python -m deploy package --stage prod --out out/``, ``make package``; ``python -m deploy wheels``).
- ``cloudformation``: create or update a stack and report its failed resources.
- ``localstack``: deploy that same template to LocalStack (``python -m cli deploy --target localstack``).
- ``template_conditions``, ``api_models``: what ``package`` adds to chalice's template.

``deploy`` imports ``chalicelib`` (the definition, the contracts) but never ``cli``: the command line
sits on top of it.
"""
