# Rules of the cost stage (lib/sail/cost).
