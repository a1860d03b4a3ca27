"""The renderer: runs the pure ``engine.render`` for the hub and the CLI (not pure).

``engine.render`` turns files into objects and does nothing else. Running it is this
package's work: ``service.AsyncRenderCache`` renders on its own threads off the event loop,
coalesced and cancellable, through ``cache.RenderCache`` (keyed by repo, SHA, path and
options); ``fallback.build_or_fallback`` hands an app the native renderer refuses to the
kustomize binary, which ``sandbox`` runs under bubblewrap. Nothing is imported here, so
``fleetsync render`` loads only the fallback it uses.
"""
