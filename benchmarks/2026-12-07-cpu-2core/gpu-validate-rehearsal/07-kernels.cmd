/tmp/cct-bundle/bench/Cct.Bench kernels --size small --accelerator cpu --json /tmp/validate/kernels.json 
