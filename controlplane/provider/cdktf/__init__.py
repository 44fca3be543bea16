"""Typed CDK constructs for the ``weir`` provider, for people who declare Weir in Python.

``bindings`` (one module per resource and data source) is generated from the checked-in provider
schema by ``python -m controlplane.provider.cdktf.generate``. It runs on CDK Terrain (``cdktn``,
``pip install 'weir[cdktn]'``), the community continuation of CDKTF, or on CDKTF 0.21 (``cdktf``,
``pip install 'weir[cdktf]'``): whichever the app imports::

    from cdktn import App, TerraformStack
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
