"""The native Handle protocol front end: UDP and TCP listeners in every node process, and the HTTP tunnel,
answering through the same pipeline and caches as every other dialect (see README.md)."""

from .handler import Responder
from .lane import HotLane
from .listeners import listening
from .site import Place, SiteRecord, site_record
from .tunnel import NativeTunnel

__all__ = ["HotLane", "NativeTunnel", "Place", "Responder", "SiteRecord", "listening", "site_record"]
