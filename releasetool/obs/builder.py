"""placeholder"""
class Builder:
    def __init__(self, store): self.store = store
    def start(self): pass
    def stop(self): pass
    def schedule(self, project, package, force=False): pass
