/work/main/bundle/cct devices 
