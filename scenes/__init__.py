"""One sub-package per scene; each exposes SCENE (see explorer.scene)."""
