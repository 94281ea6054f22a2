/tmp/b/cct-bundle/cct check --accelerator cpu 
