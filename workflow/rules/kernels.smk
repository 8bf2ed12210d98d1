# Rules of the kernels stage (lib/sail/kernels).
