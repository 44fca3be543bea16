"""Property models of every type Weir implements, one module per plugin family.

Importing a module registers its types. Nothing is imported here: the registry imports the module
that holds a type when a flow first names it (see ``controlplane.spec.typeindex``), and
``registry.load_all()`` imports every module of this package.
"""
