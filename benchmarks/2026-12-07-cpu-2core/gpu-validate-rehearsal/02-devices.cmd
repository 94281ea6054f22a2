/tmp/rb/cct-bundle/cct devices 
