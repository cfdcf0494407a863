"""The tools: one module per tool, each declaring its schema, side-effect class, cost and run()."""
