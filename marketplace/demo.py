"""STUB — demo loader."""
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="演示数据 (demo data)")
