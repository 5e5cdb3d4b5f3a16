require ["copy", "fileinto"];
fileinto :copy "incoming";

# ... more processing follows ...
