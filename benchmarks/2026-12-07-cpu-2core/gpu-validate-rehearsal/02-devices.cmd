/tmp/cct-bundle/cct devices 
