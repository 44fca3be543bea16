"""Typed CDKTF constructs for the ``weir`` provider, for people who declare Weir in Python.

``bindings`` is generated from the checked-in provider schema by
``python -m controlplane.provider.cdktf.generate`` and needs ``cdktf`` (``pip install
'weir[cdktf]'``) or its community continuation ``cdktn``::

    from cdktf import App, TerraformStack
    from controlplane.provider.cdktf.bindings import Flow, WeirProvider

    class Flows(TerraformStack):
        def __init__(self, scope, name):
            super().__init__(scope, name)
            WeirProvider(self, "weir")
            Flow(self, "hello", content=open("flows/hello.yaml").read())

    app = App()
    Flows(app, "flows")
    app.synth()   # then terraform init / apply in cdktf.out/stacks/flows
"""
