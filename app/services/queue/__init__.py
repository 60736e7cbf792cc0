"""The CAS queue (housing prioritization list). So far: the intake-status machine; the queue
itself (listing, priority, the status moves) arrives with its own issue. May import every
package below it (``documents``, ``ce``, ``clients``, ``identity``, ``platform``)."""
