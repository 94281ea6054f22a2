/tmp/bundle/cct devices 
