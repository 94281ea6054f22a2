/tmp/cct-bundle/cct eval --checkpoint /tmp/validate/train-fp32/checkpoint-best.safetensors --data /usr/share/datasets/fashion-mnist --out /tmp/validate/eval --accelerator cpu --test-limit 16 
