# Rules of the quant stage (lib/sail/quant).
