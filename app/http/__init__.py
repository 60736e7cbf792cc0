"""HTTP infrastructure shared by every router: middleware, unit of work, pagination, ETags."""
