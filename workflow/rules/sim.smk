# Rules of the sim stage (lib/sail/sim).
