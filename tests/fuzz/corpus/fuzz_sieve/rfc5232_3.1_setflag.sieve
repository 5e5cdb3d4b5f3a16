require "imap4flags";
if size :over 500K {
    setflag "\\Deleted";
}
