/tmp/cct-bundle/cct check --accelerator cpu 
