echo "hello from the davit example"
cat /etc/motd
