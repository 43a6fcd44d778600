"""Request schemas the sandbox networks validate against, written by us from each network's documented behaviour."""
