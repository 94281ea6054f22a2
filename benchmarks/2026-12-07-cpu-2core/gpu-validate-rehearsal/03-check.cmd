/tmp/rb/cct-bundle/cct check --accelerator cpu 
