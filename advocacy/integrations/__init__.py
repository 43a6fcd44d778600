"""The company's other systems: content coming in from its feeds (``sources``), events going out to its webhook
endpoints (``webhooks``). Both reach URLs under the outbound guard (``advocacy.outbound``)."""
