"""Integration tests run the deployed definition on another engine (LocalStack)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "integration: runs against LocalStack's runtime (installed on first use)"
    )
