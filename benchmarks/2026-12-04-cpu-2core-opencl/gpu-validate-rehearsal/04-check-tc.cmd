/work/main/bundle/cct check --accelerator cpu --precision tf32x3 
