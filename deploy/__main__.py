"""``python -m deploy package --stage prod --out out/`` and ``python -m deploy wheels`` (``make package``)."""

from deploy.package import main

main()
