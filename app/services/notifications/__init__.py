"""Notifications (DOMAIN 10): the fan-out of notification events to the people and partner
organizations who may see them -- inboxes, email, live streams, signed webhooks -- and the scans
that find events no request causes. The top domain package: may import every package below it
(``queue``, ``documents``, ``ce``, ``clients``, ``identity``, ``platform``); nothing imports it
but the composition roots and routers."""
