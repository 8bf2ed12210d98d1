# Rules of the model stage (lib/sail/model).
