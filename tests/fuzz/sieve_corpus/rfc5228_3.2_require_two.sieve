require "fileinto";
require "vacation";
