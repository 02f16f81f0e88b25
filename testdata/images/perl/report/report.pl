#!/usr/bin/perl
# report.pl: reads report.conf and names.txt beside it; the config names the locale.
use strict;
use warnings;
use POSIX qw(setlocale strftime LC_ALL);
use File::Basename qw(dirname);

my $dir = dirname(__FILE__);
my %conf;
open(my $c, '<', "$dir/report.conf") or die "report.conf: $!";
while (<$c>) {
	next if /^\s*(#|$)/;
	chomp;
	my ($k, $v) = split /\s*=\s*/, $_, 2;
	$conf{$k} = $v;
}
close $c;

my $loc = setlocale(LC_ALL, $conf{locale});
die "locale $conf{locale} is not available\n" unless defined $loc;
print "locale: $loc\n";

open(my $n, '<', "$dir/names.txt") or die "names.txt: $!";
chomp(my @names = <$n>);
close $n;
{
	use locale;
	print "sorted: ", join(", ", sort { $a cmp $b } @names), "\n";
}
print "date: ", strftime("%A, %d. %B %Y", gmtime(86400 * 40)), "\n";
