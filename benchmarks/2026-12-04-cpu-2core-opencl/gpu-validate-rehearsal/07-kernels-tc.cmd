/work/main/bundle/bench/Cct.Bench kernels --size small --accelerator cpu --precision tf32x3 --json /tmp/validate/kernels-tf32x3.json 
