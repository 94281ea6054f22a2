/tmp/b/cct-bundle/cct devices 
