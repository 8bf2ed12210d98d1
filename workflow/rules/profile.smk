# Rules of the profile stage (lib/sail/profile).
