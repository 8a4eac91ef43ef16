"""TFLite component (tfx-addons shape): blessed model -> measured TFLite variants -> edge bundle.

``component.py`` is the contract, ``executor.py`` the work; ``edge_client.py`` ships
inside every pushed bundle and runs with only ``ai-edge-litert`` and numpy.
"""
