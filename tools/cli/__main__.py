from tools.cli.main import app

if __name__ == "__main__":  # spawned workers (parallel replay) import this module too
    app(prog_name="nls")
