"""Everything the user sees. The only package that imports rich.

One module per screen area; ``console`` holds the shared consoles. Core modules never
import this package: they return data, and the CLI hands it to a renderer here.
"""
