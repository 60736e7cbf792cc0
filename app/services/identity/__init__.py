"""Identity: authentication, users and memberships, CoCs, organizations and projects.
May import ``platform`` only."""
