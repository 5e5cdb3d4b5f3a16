if header "Subject" "MAKE MONEY FAST!!!"
{
        discard;
}
