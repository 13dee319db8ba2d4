"""The local cloud: moto resources from template.yaml, routing to the real handlers, the demo."""
