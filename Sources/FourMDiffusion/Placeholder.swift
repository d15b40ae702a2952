// placeholder until the diffusion decoders land
