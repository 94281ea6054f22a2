/tmp/bundle/cct check --accelerator cpu 
