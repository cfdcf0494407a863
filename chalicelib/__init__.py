"""MAOO: everything that runs inside a Lambda function (Chalice packages this folder whole)."""
