/work/main/bundle/cct check --accelerator cpu 
