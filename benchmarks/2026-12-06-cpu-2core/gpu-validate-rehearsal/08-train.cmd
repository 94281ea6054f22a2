/tmp/bundle/cct train --model cct-tiny --epochs 3 --data /usr/share/datasets/fashion-mnist --out /tmp/validate/train --accelerator cpu --batch 8 --train-limit 48 --test-limit 16 --val-split 0 
