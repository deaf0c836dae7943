-- The drug catalogue: products as they are scanned at the bedside. The
-- national catalogue (facility_id NULL) is reference data shared by every
-- facility — a replicated reference table once the data is distributed —
-- and a facility may add its own products. Products are never deleted; a
-- product withdrawn from the market is marked so.
CREATE TABLE products (
    id             uuid PRIMARY KEY,
    facility_id    uuid REFERENCES facilities (id),
    aic            text CHECK (aic ~ '^0[0-9]{8}$'),
    gtin           text CHECK (gtin ~ '^[0-9]{14}$'),
    name           text        NOT NULL CHECK (name <> ''),
    form           text        NOT NULL,
    routes         text[]      NOT NULL DEFAULT '{}',
    units_per_pack integer CHECK (units_per_pack > 0),
    high_alert     boolean     NOT NULL DEFAULT false,
    lasa           boolean     NOT NULL DEFAULT false,
    do_not_crush   boolean     NOT NULL DEFAULT false,
    time_critical  boolean     NOT NULL DEFAULT false,
    withdrawn      boolean     NOT NULL DEFAULT false,
    source         text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (aic IS NOT NULL OR gtin IS NOT NULL)
);
-- One product per code in the national catalogue, and per facility.
CREATE UNIQUE INDEX products_national_aic ON products (aic) WHERE facility_id IS NULL AND aic IS NOT NULL;
CREATE UNIQUE INDEX products_national_gtin ON products (gtin) WHERE facility_id IS NULL AND gtin IS NOT NULL;
CREATE UNIQUE INDEX products_facility_aic ON products (facility_id, aic) WHERE facility_id IS NOT NULL AND aic IS NOT NULL;
CREATE UNIQUE INDEX products_facility_gtin ON products (facility_id, gtin) WHERE facility_id IS NOT NULL AND gtin IS NOT NULL;
CREATE TRIGGER products_no_delete BEFORE DELETE ON products FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE product_ingredients (
    product_id uuid    NOT NULL REFERENCES products (id),
    position   integer NOT NULL,
    name       text    NOT NULL CHECK (name <> ''),
    atc        text    NOT NULL CHECK (atc ~ '^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$'),
    strength   numeric CHECK (strength > 0),
    unit       text    NOT NULL DEFAULT '',
    PRIMARY KEY (product_id, position)
);
CREATE INDEX product_ingredients_atc ON product_ingredients (atc);
