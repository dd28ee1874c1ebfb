"""The go-to page: discover upstream releases, build the static site, serve it.

- :mod:`releasetool.site.data`: ``site-data.json``, what discovery found (the format is documented there);
- :mod:`releasetool.site.fetch`: HTTP with timeouts, revalidation and an on-disk cache, one request per URL a run;
- :mod:`releasetool.site.version_sources`: reading each kind of source (git tags, GitHub releases, directory listings, OBS);
- :mod:`releasetool.site.discover`: asking every source of every component, concurrently, and merging;
- :mod:`releasetool.site.build`: rendering index, component pages, ``versions.json`` and the Atom feed, swapped in atomically;
- :mod:`releasetool.site.serve`: a local web server for the built site.
"""
