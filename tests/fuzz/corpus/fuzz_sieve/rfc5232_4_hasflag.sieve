require ["imap4flags", "variables"];
if allof (hasflag :is "b A", hasflag ["b","A"],
          hasflag :contains "MyVar" "Junk",
          hasflag :contains "MyVar" ["label", "forward"]) {
    stop;
}
